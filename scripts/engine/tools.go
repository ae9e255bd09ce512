//go:build tools

// Package engine pins the Pulumi CLI that the end-to-end tests and the demo drive.
// scripts/ensure-pulumi.sh builds it from here; nothing imports this package.
package engine

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
