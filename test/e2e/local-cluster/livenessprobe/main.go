// hostpath-csi-livenessprobe stands in for the livenessprobe sidecar in the local-cluster e2e, because no Go module
// proxy can serve livenessprobe v2 (its go.mod lacks the /v2 suffix its tags need). It takes the flags the deploy/
// manifests give livenessprobe and does what that sidecar does for the kubelet's liveness probe of the driver
// container: every GET /healthz on --health-port sends a CSI Probe over the driver socket with --probe-timeout, and
// answers 200 only when Probe succeeds and does not report ready=false; anything else (no answer in time, an error,
// not ready) answers 500, so a hung driver fails its liveness probe and kubelet restarts the container.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"time"

	csi "github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

type prober struct {
	conn    *grpc.ClientConn
	timeout time.Duration
}

func (p *prober) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), p.timeout)
	defer cancel()
	rsp, err := csi.NewIdentityClient(p.conn).Probe(ctx, &csi.ProbeRequest{})
	if err != nil {
		log.Printf("health check failed: %v", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	// CSI spec, Probe: an unset ready means ready; only an explicit false is "not ready yet".
	if ready := rsp.GetReady(); ready != nil && !ready.GetValue() {
		log.Print("health check failed: driver reports not ready")
		http.Error(w, "driver responded but is not ready", http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "ok")
}

func main() {
	csiAddress := flag.String("csi-address", "/run/csi/socket", "path of the CSI driver socket")
	healthPort := flag.Int("health-port", 9808, "TCP port of the /healthz endpoint")
	httpEndpoint := flag.String("http-endpoint", "", "address of the /healthz endpoint (overrides --health-port)")
	probeTimeout := flag.Duration("probe-timeout", time.Second, "how long one Probe may take")
	flag.Int("v", 0, "log verbosity (accepted for compatibility; this stand-in logs failures only)")
	flag.Parse()

	addr := *httpEndpoint
	if addr == "" {
		addr = net.JoinHostPort("", strconv.Itoa(*healthPort))
	}
	// grpc.NewClient connects lazily and reconnects by itself, as the upstream sidecar's connection does: a
	// restarted driver container is probed on its new socket without restarting this one.
	conn, err := grpc.NewClient("unix://"+*csiAddress, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", (&prober{conn: conn, timeout: *probeTimeout}).healthz)
	log.Printf("serving /healthz on %s for the driver at %s", addr, *csiAddress)
	log.Fatal(http.ListenAndServe(addr, mux))
}
