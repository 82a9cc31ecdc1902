// Package image decides what a SageMaker model's container Image means to
// Hearth: one of its built-in runtimes (the SageMaker XGBoost, scikit-learn
// and PyTorch inference images), a local executable that honours the
// SageMaker container contract, or a container image run by the container
// runtime.
package image

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/distribution/reference"
)

// Kind is how an image is run.
type Kind int

const (
	// XGBoost is the built-in XGBoost runtime (`hearth worker xgboost`).
	XGBoost Kind = iota + 1
	// Executable is a local program started as `<path> serve`.
	Executable
	// SKLearn and PyTorch are the built-in framework runtimes for the
	// SageMaker scikit-learn and PyTorch inference images.
	SKLearn
	PyTorch
	// Container is a container image (a Docker image reference, ECR URIs
	// included) run by the container runtime as `docker run <image> serve`.
	Container
)

func (k Kind) String() string {
	switch k {
	case XGBoost:
		return "xgboost"
	case Executable:
		return "executable"
	case SKLearn:
		return "sklearn"
	case PyTorch:
		return "pytorch"
	case Container:
		return "container"
	}
	return "unknown"
}

// Ref is a resolved image.
type Ref struct {
	Kind Kind
	// Path is the executable for Kind Executable.
	Path string
	// Image is the image reference for Kind Container, as the user gave it.
	Image string
}

// xgboostRE matches a SageMaker XGBoost image URI from any registry, region
// and tag: <registry>/sagemaker-xgboost:1.7-1, …/xgboost:latest, or a bare
// repository name.
var xgboostRE = regexp.MustCompile(`^([^\s/]+(/[^\s/]+)*/)?(sagemaker-xgboost|xgboost)(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$`)

// sklearnRE and pytorchRE match the SageMaker scikit-learn and PyTorch
// inference image URIs from any registry, region and tag.
var (
	sklearnRE = regexp.MustCompile(`^([^\s/]+(/[^\s/]+)*/)?sagemaker-scikit-learn(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$`)
	pytorchRE = regexp.MustCompile(`^([^\s/]+(/[^\s/]+)*/)?pytorch-inference(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$`)
)

// Resolve interprets image. Errors are written for the user who named the
// image and say what Hearth can run instead.
func Resolve(image string) (Ref, error) {
	if xgboostRE.MatchString(image) {
		return Ref{Kind: XGBoost}, nil
	}
	switch {
	case sklearnRE.MatchString(image):
		return Ref{Kind: SKLearn}, nil
	case pytorchRE.MatchString(image):
		return Ref{Kind: PyTorch}, nil
	}
	path := ""
	switch {
	case strings.HasPrefix(image, "file://"):
		u, err := url.Parse(image)
		if err != nil || u.Path == "" || (u.Host != "" && u.Host != "localhost") {
			return Ref{}, fmt.Errorf("image %q is not a valid file:// URL of an executable", image)
		}
		path = u.Path
	case filepath.IsAbs(image):
		path = image
	default:
		if _, err := reference.ParseNormalizedNamed(image); err != nil {
			return Ref{}, fmt.Errorf("image %q is neither a container image reference (%v) nor a local executable given as an absolute path or file:// URL", image, err)
		}
		return Ref{Kind: Container, Image: image}, nil
	}
	path = filepath.Clean(path)
	fi, err := os.Stat(path)
	if err != nil {
		return Ref{}, fmt.Errorf("image %q: executable not found: %w", image, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return Ref{}, fmt.Errorf("image %q: %s is not an executable file", image, path)
	}
	return Ref{Kind: Executable, Path: path}, nil
}
