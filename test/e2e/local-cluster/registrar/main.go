// hostpath-csi-registrar stands in for node-driver-registrar in the local-cluster e2e, because no Go module proxy
// can serve node-driver-registrar v2 (its go.mod lacks the /v2 suffix its tags need). It takes the same flags the
// deploy/ manifests give node-driver-registrar and does what that sidecar does for kubelet: it asks the driver for
// its name (GetPluginInfo), serves kubelet's plugin-registration API on <plugin-registration-path>/<name>-reg.sock
// with the driver socket's host path, exits if kubelet reports a failed registration, removes its socket on
// SIGTERM, and answers /healthz on --http-endpoint while its socket exists.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	csi "github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

type registrar struct {
	registerapi.UnimplementedRegistrationServer
	driverName string
	endpoint   string
}

func (r *registrar) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	log.Printf("kubelet asked for plugin info: %s at %s", r.driverName, r.endpoint)
	return &registerapi.PluginInfo{
		Type:              registerapi.CSIPlugin,
		Name:              r.driverName,
		Endpoint:          r.endpoint,
		SupportedVersions: []string{"1.0.0"},
	}, nil
}

// NotifyRegistrationStatus exits on failure, as node-driver-registrar does: kubelet retries with a new process.
func (r *registrar) NotifyRegistrationStatus(_ context.Context, s *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	if !s.PluginRegistered {
		log.Fatalf("kubelet failed to register the plugin: %s", s.Error)
	}
	log.Printf("kubelet registered %s", r.driverName)
	return &registerapi.RegistrationStatusResponse{}, nil
}

func driverName(csiAddress string, timeout time.Duration) (string, error) {
	conn, err := grpc.NewClient("unix://"+csiAddress, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	// The driver may still be starting: retry until the timeout, like the upstream sidecar's connection loop.
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		info, err := csi.NewIdentityClient(conn).GetPluginInfo(ctx, &csi.GetPluginInfoRequest{})
		cancel()
		if err == nil {
			return info.GetName(), nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("GetPluginInfo on %s: %w", csiAddress, err)
		}
		time.Sleep(time.Second)
	}
}

func serveHealth(addr, socket string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if _, err := os.Stat(socket); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	if err := http.ListenAndServe(addr, mux); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("health endpoint %s: %v", addr, err)
	}
}

func main() {
	csiAddress := flag.String("csi-address", "/run/csi/socket", "path of the CSI driver socket")
	kubeletPath := flag.String("kubelet-registration-path", "", "host path of the CSI driver socket, as kubelet sees it")
	registrationDir := flag.String("plugin-registration-path", "/registration", "kubelet's plugin registration directory")
	httpEndpoint := flag.String("http-endpoint", "", "address of the /healthz endpoint (empty: none)")
	timeout := flag.Duration("timeout", time.Second, "how long to wait for the driver to answer GetPluginInfo")
	flag.Int("v", 0, "log verbosity (accepted for compatibility; this stand-in logs every event)")
	flag.Parse()
	if *kubeletPath == "" {
		log.Fatal("--kubelet-registration-path is required")
	}

	name, err := driverName(*csiAddress, max(*timeout, time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	socket := filepath.Join(*registrationDir, name+"-reg.sock")
	if err := os.Remove(socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Fatalf("removing stale %s: %v", socket, err)
	}
	lis, err := net.Listen("unix", socket)
	if err != nil {
		log.Fatalf("listening on %s: %v", socket, err)
	}
	server := grpc.NewServer()
	registerapi.RegisterRegistrationServer(server, &registrar{driverName: name, endpoint: *kubeletPath})

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		server.Stop()
		_ = os.Remove(socket)
		os.Exit(0)
	}()
	if *httpEndpoint != "" {
		go serveHealth(*httpEndpoint, socket)
	}
	log.Printf("serving plugin registration for %s on %s", name, socket)
	if err := server.Serve(lis); err != nil {
		log.Fatal(err)
	}
}
