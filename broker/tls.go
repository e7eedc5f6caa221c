package broker

import (
	"crypto/tls"
	"fmt"

	"github.com/nats-io/nats-server/v2/server"
)

// LoadTLS builds the TLS configuration for client connections
// ([Config.TLS]) from PEM files: the node's certificate and key, and
// optionally a CA; with a CA, clients must present a certificate it signed
// (mutual TLS). Errors wrap [ErrInvalidConfig].
func LoadTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, fmt.Errorf("%w: TLS needs both a certificate and a key file", ErrInvalidConfig)
	}
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{
		CertFile: certFile,
		KeyFile:  keyFile,
		CaFile:   caFile,
		Verify:   caFile != "",
	})
	if err != nil {
		return nil, fmt.Errorf("%w: TLS: %v", ErrInvalidConfig, err)
	}
	return tc, nil
}

// LoadClusterTLS builds the TLS configuration for routes
// ([Config.ClusterTLS]) from PEM files. A route is both a client and a
// server, so all three files are required and both ends verify each
// other's certificate against the CA. Errors wrap [ErrInvalidConfig].
func LoadClusterTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" || caFile == "" {
		return nil, fmt.Errorf("%w: cluster TLS needs a certificate, a key and a CA file", ErrInvalidConfig)
	}
	tc, err := LoadTLS(certFile, keyFile, caFile)
	if err != nil {
		return nil, err
	}
	return clusterTLS(tc), nil
}

// clusterTLS returns a copy of tc fit for routes: client certificates
// required and verified, and RootCAs (for dialing other nodes) defaulting
// to ClientCAs (and the other way round), as nats-server does for a
// cluster tls block.
func clusterTLS(tc *tls.Config) *tls.Config {
	tc = tc.Clone()
	if tc.RootCAs == nil {
		tc.RootCAs = tc.ClientCAs
	}
	if tc.ClientCAs == nil {
		tc.ClientCAs = tc.RootCAs
	}
	tc.ClientAuth = tls.RequireAndVerifyClientCert
	return tc
}

// applyTLS sets the client TLS options from cfg over a config file's.
func applyTLS(opts *server.Options, cfg *Config) {
	if cfg.TLS == nil {
		return
	}
	opts.TLSConfig = cfg.TLS.Clone()
	opts.TLSVerify = cfg.TLS.ClientAuth == tls.RequireAndVerifyClientCert
	opts.TLSMap = false
	if opts.TLSTimeout == 0 {
		opts.TLSTimeout = 2
	}
}

// validateTLS checks the TLS fields of cfg.
func (cfg *Config) validateTLS() error {
	if cfg.TLS != nil && len(cfg.TLS.Certificates) == 0 && cfg.TLS.GetCertificate == nil {
		return fmt.Errorf("%w: client TLS config has no certificate", ErrInvalidConfig)
	}
	if cfg.ClusterTLS != nil && len(cfg.ClusterTLS.Certificates) == 0 && cfg.ClusterTLS.GetCertificate == nil {
		return fmt.Errorf("%w: cluster TLS config has no certificate", ErrInvalidConfig)
	}
	if cfg.ClusterTLS != nil && cfg.ClusterTLS.ClientCAs == nil && cfg.ClusterTLS.RootCAs == nil {
		return fmt.Errorf("%w: cluster TLS config has no CA (ClientCAs/RootCAs)", ErrInvalidConfig)
	}
	return nil
}
