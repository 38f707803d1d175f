//go:build tools

// Package tools pins the commands this module builds (see ../build).
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
