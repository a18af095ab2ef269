// pause: the infrastructure container of every pod on the test node. It holds the pod's
// namespaces open, reaps zombies (it is PID 1 when the pod shares its PID namespace) and exits
// on SIGTERM or SIGINT. Built static (CGO off) into a FROM scratch image by build-pause.sh.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range signals {
		if sig == syscall.SIGCHLD {
			for {
				var status syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
