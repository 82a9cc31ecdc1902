package control

import (
	"context"
	"testing"
	"time"

	"hearth"
	"hearth/internal/store"
)

type nopDeployer struct{}

func (nopDeployer) Admit(hearth.Deployment) error   { return nil }
func (nopDeployer) Deploy(hearth.Deployment)        {}
func (nopDeployer) Restore(hearth.Deployment)       {}
func (nopDeployer) Remove(endpoint string, g int64) {}

// Healthy fails while the control plane's lock is held — what /healthz
// reports when a write is stuck.
func TestHealthyFailsWhileTheLockIsStuck(t *testing.T) {
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(st, nopDeployer{}, Options{Region: "us-east-1", AccountID: "000000000000"})
	if !s.Healthy(10 * time.Millisecond) {
		t.Fatal("Healthy false with the lock free")
	}
	s.mu.Lock()
	if s.Healthy(10 * time.Millisecond) {
		t.Fatal("Healthy true with the lock held")
	}
	s.mu.Unlock()
}
