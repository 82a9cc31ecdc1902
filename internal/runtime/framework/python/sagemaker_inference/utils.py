"""Helpers of the inference toolkit: files, headers, Accept parsing."""
import re

CONTENT_TYPE_REGEX = re.compile("^[Cc]ontent-?[Tt]ype")


def read_file(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def write_file(path, data, mode="w"):
    with open(path, mode) as f:
        f.write(data)


def retrieve_content_type_header(request_property):
    """The value of the first Content-Type header in any spelling, or None."""
    for key in request_property:
        if CONTENT_TYPE_REGEX.match(key):
            return request_property[key]
    return None


def parse_accept(accept):
    """The MIME types listed in an Accept header, in order."""
    return accept.replace(" ", "").split(",")


def remove_crlf(illegal_string):
    """The string with CR and LF replaced by spaces (for reason phrases)."""
    for c in ("\r", "\n"):
        illegal_string = illegal_string.replace(c, " ")
    return illegal_string
