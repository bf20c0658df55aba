package meta

import (
	"os/exec"
	"testing"
)

// A lease's owner is gone when it ran on this host since its boot and no process with its PID
// and start time exists; an owner on another host is never called gone (its lease expires).
func TestOwnerGone(t *testing.T) {
	here := CurrentOwner()
	if here.Started == "" || here.HostBoot == "" {
		t.Skip("no /proc here: owners are judged by their lease's expiry only")
	}
	if here.gone(here) {
		t.Fatal("this process is called gone")
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child := Owner{Host: here.Host, HostBoot: here.HostBoot, PID: cmd.Process.Pid, Started: processStart(cmd.Process.Pid)}
	if child.Started == "" || child.gone(here) {
		t.Fatalf("a running child %+v is called gone", child)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if !child.gone(here) {
		t.Fatalf("a dead child %+v is not called gone", child)
	}
	reused := here
	reused.Started = "1" // the PID now belongs to another process
	if !reused.gone(here) {
		t.Fatal("an owner whose PID was reused is not called gone")
	}
	elsewhere := child
	elsewhere.Host = "another-host"
	if elsewhere.gone(here) {
		t.Fatal("an owner on another host is called gone")
	}
}
