// tiny: the test workloads of the real-node e2e in one static binary.
//
//	tiny              waits until SIGTERM/SIGINT (the pod sandbox's pause process)
//	tiny serve :8080  HTTP server answering "<hostname>\n" (the Service's backend)
//	tiny get URL      fetches URL once and prints the body; non-zero exit on failure
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		pause()
		return
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2])
	case "get":
		os.Exit(get(os.Args[2]))
	default:
		fmt.Fprintf(os.Stderr, "tiny: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}

func pause() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	<-signals
}

func serve(address string) {
	host, _ := os.Hostname()
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintf(w, "%s\n", host) })
	fmt.Printf("serving on %s\n", address)
	if err := http.ListenAndServe(address, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func get(url string) int {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("%d %s", resp.StatusCode, body)
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}
