// Text of the files the lab writes: /etc/hosts, the sshd drop-in, the init program, known_hosts lines (pure).
import type { LabHostPlan, LabPlan } from './plan.js';

/** /etc/hosts of a lab host: loopback, then every lab host by name (its own name on its own address). */
export function etcHosts(plan: LabPlan): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  for (const h of plan.hosts) lines.push(`${h.address}\t${h.name}`);
  return lines.join('\n') + '\n';
}

/** sshd settings of a lab host: only its own host key, keys only, its inventory port. */
export function sshdDropIn(host: LabHostPlan): string {
  return [
    '# written by ironclad lab: this host has its own key; log in with the lab key',
    'HostKey /etc/ssh/ssh_host_ed25519_key',
    `Port ${host.sshPort}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UseDNS no',
    '',
  ].join('\n');
}

/** Path of the init program inside a lab host. */
export const INIT_PATH = '/usr/local/sbin/ironclad-lab-init';

/**
 * pid 1 of a lab host (perl is part of every Debian system): runs sshd in the foreground and a tiny syslog
 * on /dev/log (to /var/log/syslog), restarts them when they die, and reaps every orphan so daemons that
 * double-fork (postgres) leave no zombies. As pid 1 of its namespace it ignores signals it has no handler for.
 */
export function initProgram(): string {
  return String.raw`#!/usr/bin/perl
# ironclad lab init: pid 1 of a lab host. Supervises sshd and syslog; reaps orphans.
use strict;
use warnings;
use Socket;
use IO::Handle;
$0 = 'ironclad-lab-init';

sub syslog_service {
  $0 = 'ironclad-lab-syslog';
  unlink '/dev/log';
  socket(my $sock, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!";
  bind($sock, pack_sockaddr_un('/dev/log')) or die "bind /dev/log: $!";
  chmod 0666, '/dev/log';
  open(my $out, '>>', '/var/log/syslog') or die "open /var/log/syslog: $!";
  $out->autoflush(1);
  chomp(my $host = qx(hostname));
  while (defined(recv($sock, my $msg, 65536, 0))) {
    $msg =~ s/^<\d+>//;
    $msg =~ s/[\r\n\0]+$//;
    $msg =~ s/^(\w{3} [ \d]\d \d\d:\d\d:\d\d) /$1 $host / or $msg = "$host $msg";
    print $out "$msg\n";
  }
  exit 1;
}

my %services = (
  sshd   => sub { exec '/usr/sbin/sshd', '-D', '-e' or exit 127 },
  syslog => \&syslog_service,
);
my %running;
sub start {
  my ($name) = @_;
  my $pid = fork();
  if (!defined $pid) { warn "fork $name: $!\n"; return }
  if ($pid == 0) { $services{$name}->(); exit 127 }
  $running{$pid} = $name;
}
start($_) for sort keys %services;
while (1) {
  my $pid = wait();
  if ($pid == -1) { sleep 1; next }
  my $name = delete $running{$pid} or next;
  warn "ironclad-lab-init: $name exited ($?), restarting\n";
  sleep 1;
  start($name);
}
`;
}

/** One known_hosts line: `name,address key` (`[address]:port` when sshd is not on 22). */
export function knownHostsLine(host: LabHostPlan, publicKey: string): string {
  const [type, key] = publicKey.trim().split(/\s+/);
  const names = host.sshPort === 22 ? `${host.name},${host.address}` : `[${host.name}]:${host.sshPort},[${host.address}]:${host.sshPort}`;
  return `${names} ${type} ${key}`;
}

/** A known_hosts file for the hosts whose public keys are known; hosts without a key are left out. */
export function knownHostsText(entries: { host: LabHostPlan; publicKey?: string }[]): string {
  const lines = entries.filter((e) => e.publicKey?.trim()).map((e) => knownHostsLine(e.host, e.publicKey!));
  return lines.length ? `# written by ironclad lab up\n${lines.join('\n')}\n` : '';
}
