/**
 * Lays a booted container out like Raspberry Pi OS bookworm after the Node-RED Pi installer:
 * user `pi` (uid 1000, /home/pi 0700, passwordless sudo as on the Pi), another user `eve`,
 * Node-RED 4 at /usr/lib/node_modules/node-red (this checkout's node_modules, bound read-only),
 * ~/.node-red/settings.js (Node-RED's default, bound to 127.0.0.1 on `port`), and
 * nodered.service as the installer writes it, enabled and running.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Container } from './container';

const DEFAULT_SETTINGS = join(__dirname, '..', '..', 'node_modules', 'node-red', 'settings.js');

/** The unit the Node-RED Pi installer writes (its comments trimmed), with red.js started directly. */
export const NODERED_SERVICE = `# systemd service file to start Node-RED
[Unit]
Description=Node-RED graphical event wiring tool
Wants=network.target
Documentation=http://nodered.org/docs/hardware/raspberrypi.html

[Service]
Type=simple
# Run as normal pi user - change to the user name you wish to run Node-RED as
User=pi
Group=pi
WorkingDirectory=/home/pi

Environment="NODE_OPTIONS=--max_old_space_size=512"
# define an optional environment file in Node-RED's user directory to set custom variables externally
EnvironmentFile=-/home/pi/.node-red/environment
ExecStart=/usr/bin/node /usr/lib/node_modules/node-red/red.js -u /home/pi/.node-red
# Use SIGINT to stop
KillSignal=SIGINT
# Auto restart on crash
Restart=on-failure
RestartSec=20
# Tag things in the log
SyslogIdentifier=Node-RED

[Install]
WantedBy=multi-user.target
`;

/** Node-RED's default settings.js, listening on 127.0.0.1:port only. */
export function defaultSettings(port: number): string {
  const text = readFileSync(DEFAULT_SETTINGS, 'utf8')
    .replace('uiPort: process.env.PORT || 1880,', `uiPort: ${port},`)
    .replace('//uiHost: "127.0.0.1",', 'uiHost: "127.0.0.1",');
  if (!text.includes(`uiPort: ${port},`) || !text.includes('\n    uiHost: "127.0.0.1",')) throw new Error('Node-RED default settings.js changed shape');
  return text;
}

/** Creates the users, Node-RED's user dir and nodered.service, and starts Node-RED (plain HTTP). */
export async function layOutRaspios(c: Container, port: number): Promise<void> {
  await c.sh(`
    adduser --quiet --disabled-password --gecos '' --uid 1000 pi
    adduser --quiet --disabled-password --gecos '' eve
    chmod 0700 /home/pi /home/eve
    grep -q "$(cat /etc/hostname)" /etc/hosts || echo "127.0.1.1 $(cat /etc/hostname)" >> /etc/hosts
    echo 'pi ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/010_pi-nopasswd && chmod 0440 /etc/sudoers.d/010_pi-nopasswd
    install -d -o pi -g pi -m 0755 /home/pi/.node-red
  `);
  c.writeFile('home/pi/.node-red/settings.js', defaultSettings(port), 0o644, 1000, 1000);
  c.writeFile('lib/systemd/system/nodered.service', NODERED_SERVICE);
  await c.sh('systemctl daemon-reload && systemctl enable --now nodered.service');
}
