#!/usr/bin/env bash
# Installs what the Slurm tests need on a Debian/Ubuntu dev or CI machine: Slurm (slurm-wlm:
# slurmctld, slurmd and the client commands), munge (Slurm's authentication daemon) and shellcheck
# (which `make quality` runs on slurm/*.slurm).
#
#   sudo bash scripts/install_slurm.sh     (or as root without sudo)
#
# Nothing is configured or started here: the Slurm tests' fixture (tests/support/slurm_cluster.py) writes its
# own munge key and slurm.conf under a temporary folder and runs the daemons only while the slow
# tests run. The packages' own system services (if the package scripts start them) are stopped
# and disabled so that they do not hold the default ports.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends slurm-wlm munge shellcheck

# On a machine with systemd the packages may start their own daemons with the default config;
# the test cluster brings its own, so those are switched off (a no-op in containers without systemd).
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    for service in slurmctld slurmd munge; do
        $SUDO systemctl disable --now "$service" >/dev/null 2>&1 || true
    done
fi

for tool in slurmctld slurmd sbatch munged shellcheck; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "install_slurm.sh: $tool is still missing after installing slurm-wlm, munge and shellcheck" >&2
        exit 1
    }
done
# The client commands need a slurm.conf even for --version; the daemon does not.
echo "Slurm $(slurmctld -V | awk '{print $2}'), munge and shellcheck $(shellcheck --version | awk '/^version/ {print $2}') are installed."
