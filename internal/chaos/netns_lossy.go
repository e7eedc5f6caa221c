//go:build linux

package chaos

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Lossy links, for Config.Lossy. tc's netem is the usual tool, but many
// kernels ship without sch_netem; nftables rules do as well for loss: in
// a role's namespace, a rule on its eth0 (loopback inside the namespace
// is untouched) drops a random share of the packets it receives and
// sends. Dropping everything one way only is a one-way partition: TCP
// neither fails at once nor works, which stresses the clients' ping and
// write deadlines, not their reconnects.

const lossTable = "ppchaos" // the nftables table a degraded link holds

// nftCmd runs nft(8) in role's namespace with script on its stdin.
func (n *network) nftCmd(role, script string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), netCmdBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.ns[role], "nft"}, args...)...)
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("nft %s in %s: %v: %s", strings.Join(args, " "), role, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// lossRules is the table that drops inPct % of the packets role's link
// receives and outPct % of those it sends.
func lossRules(inPct, outPct int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s {\n", lossTable)
	chain := func(name, hook, dev string, pct int) {
		if pct <= 0 {
			return
		}
		share := fmt.Sprintf("numgen random mod 100 < %d ", pct) // numgen's range stops at 99
		if pct >= 100 {
			share = ""
		}
		fmt.Fprintf(&b, "  chain %s { type filter hook %s priority 0; policy accept; %s \"eth0\" %sdrop; }\n", name, hook, dev, share)
	}
	chain("in", "input", "iifname", inPct)
	chain("out", "output", "oifname", outPct)
	b.WriteString("}\n")
	return b.String()
}

// degrade makes role's link drop inPct % of what it receives and outPct %
// of what it sends (0 to 100 each), until restore.
func (n *network) degrade(role string, inPct, outPct int) error {
	if inPct < 0 || inPct > 100 || outPct < 0 || outPct > 100 {
		return fmt.Errorf("chaos: loss %d%%/%d%%: want 0 to 100", inPct, outPct)
	}
	return n.nftCmd(role, lossRules(inPct, outPct), "-f", "-")
}

// restore ends degrade; a link not degraded is left as it is.
func (n *network) restore(role string) error {
	err := n.nftCmd(role, "", "delete", "table", "inet", lossTable)
	if err != nil && strings.Contains(err.Error(), "No such file") {
		return nil
	}
	return err
}

// lossyAvailable says why degrade cannot be used here ("" if it can): it
// degrades role's link and restores it.
func (n *network) lossyAvailable(role string) string {
	if _, err := exec.LookPath("nft"); err != nil {
		return "no nft(8) (nftables)"
	}
	if err := n.degrade(role, 1, 1); err != nil {
		return err.Error()
	}
	if err := n.restore(role); err != nil {
		return err.Error()
	}
	return ""
}
