// Command hourglass compiles, deploys, backfills, validates and serves ClickHouse and Tinybird
// hourly rollups declared as code. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hourglass-dev/hourglass/cli"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, cli.Build{Version: version})
	stop()
	os.Exit(code)
}
