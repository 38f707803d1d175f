# ironlb developer entry points. `make setup` and `make test` are what the README and CI use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := frr bird2 gobgpd exabgp keepalived openssh-server arping tcpdump sshpass iproute2 socat curl nftables prometheus \
  containerd runc containernetworking-plugins buildah debootstrap debian-archive-keyring gcc libc6-dev \
  skopeo docker-registry conntrack iptables openssl

.PHONY: setup system-packages venv k8s-bins test lint lab lab-down clean

setup: system-packages venv k8s-bins image

# The pinned Kubernetes, etcd, CoreDNS and crictl, built from the Go module proxy into
# /var/cache/ironlb/gobuild (reused when warm; a cold build takes ~6-10 minutes on 2 cores).
k8s-bins:
	@start=$$(date +%s); tools/gobuild/build; echo ">> k8s-bins took $$(( $$(date +%s) - start ))s"

$(BIN)/pytest:
	$(MAKE) setup

system-packages:
	@start=$$(date +%s); if [ "$$(id -u)" = 0 ]; then \
	  echo ">> apt-get install $(APT_PACKAGES)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	else echo ">> not root: skipping apt packages ($(APT_PACKAGES))"; fi; \
	echo ">> system-packages took $$(( $$(date +%s) - start ))s"

venv:
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,rollout,lab]'

test: $(BIN)/pytest
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -p no:cacheprovider

lint: test

# OCI archives of the ironlb image and the lab cluster's images, without a registry
# (tools/images/build; cache: ${IRONLB_IMAGE_CACHE:-/var/cache/ironlb/images}).
.PHONY: image
image: k8s-bins
	@if [ "$$(id -u)" != 0 ]; then echo ">> not root: skipping the images (buildah and debootstrap need root)"; exit 0; fi; \
	start=$$(date +%s); tools/images/build; echo ">> image took $$(( $$(date +%s) - start ))s"

lab: setup
	@command -v nft >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq nftables >/dev/null; } || echo ">> the lab needs nftables (apt-get install nftables)"
	$(BIN)/ironlb lab up --rollout

lab-down:
	$(BIN)/ironlb lab down

clean:
	rm -rf $(VENV) build *.egg-info
