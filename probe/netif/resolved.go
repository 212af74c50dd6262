package netif

import (
	"context"
	"fmt"
	"net"

	"github.com/godbus/dbus/v5"
)

// systemd-resolved's D-Bus API (org.freedesktop.resolve1(5)).
const (
	resolvedBusName = "org.freedesktop.resolve1"
	resolvedPath    = "/org/freedesktop/resolve1"
	resolvedManager = "org.freedesktop.resolve1.Manager"
)

// resolvedServers asks systemd-resolved on the system bus
// ($DBUS_SYSTEM_BUS_ADDRESS, or /run/dbus/system_bus_socket) for the DNS
// servers of every link: the Manager property DNSEx, a(iiayqs) of
// (ifindex, address family, address, port, server name), or DNS, a(iiay),
// from systemd older than 246. Reading them needs no privilege.
func resolvedServers(ctx context.Context) ([]linkServer, error) {
	conn, err := dbus.ConnectSystemBus(dbus.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("system bus: %w", err)
	}
	defer conn.Close()
	obj := conn.Object(resolvedBusName, resolvedPath)
	get := func(prop string) (dbus.Variant, error) {
		var v dbus.Variant
		err := obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, resolvedManager, prop).Store(&v)
		return v, err
	}
	if v, err := get("DNSEx"); err == nil {
		var rows []struct {
			Ifindex int32
			Family  int32
			Addr    []byte
			Port    uint16
			Name    string
		}
		if err := dbus.Store([]any{v.Value()}, &rows); err != nil {
			return nil, fmt.Errorf("%s.DNSEx: %w", resolvedManager, err)
		}
		out := make([]linkServer, 0, len(rows))
		for _, r := range rows {
			if ip := busIP(r.Family, r.Addr); ip != nil && r.Ifindex >= 0 {
				out = append(out, linkServer{ifindex: int(r.Ifindex), addr: ip, port: int(r.Port)})
			}
		}
		return out, nil
	}
	v, err := get("DNS")
	if err != nil {
		return nil, fmt.Errorf("%s.DNS: %w", resolvedManager, err)
	}
	var rows []struct {
		Ifindex int32
		Family  int32
		Addr    []byte
	}
	if err := dbus.Store([]any{v.Value()}, &rows); err != nil {
		return nil, fmt.Errorf("%s.DNS: %w", resolvedManager, err)
	}
	out := make([]linkServer, 0, len(rows))
	for _, r := range rows {
		if ip := busIP(r.Family, r.Addr); ip != nil && r.Ifindex >= 0 {
			out = append(out, linkServer{ifindex: int(r.Ifindex), addr: ip})
		}
	}
	return out, nil
}

// busIP checks an address from the bus against its family (AF_INET 2,
// AF_INET6 10); nil when they disagree.
func busIP(family int32, b []byte) net.IP {
	switch {
	case family == 2 && len(b) == net.IPv4len, family == 10 && len(b) == net.IPv6len:
		return net.IP(b)
	}
	return nil
}
