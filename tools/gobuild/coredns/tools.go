//go:build tools

// Package tools pins the commands this module builds (see ../build).
package tools

import (
	_ "github.com/coredns/coredns"
)
