package main

import "testing"

func TestCPUCount(t *testing.T) {
	for list, want := range map[string]int{"0": 1, "0,1": 2, "0-3": 4, "0-1,4,6-7": 5, "": 1, "x": 1, "3-1": 1} {
		if got := cpuCount(list); got != want {
			t.Errorf("cpuCount(%q) = %d, want %d", list, got, want)
		}
	}
}
