# procpool: `make test` runs everything CI runs (fuzz seed corpora included);
# `make fuzz` explores each fuzz target for FUZZTIME (default 30s).

GO       ?= go
FUZZTIME ?= 30s

# package:target pairs, one per decoder that reads bytes off the wire.
FUZZ_TARGETS = \
	./internal/wire:FuzzDecodeTaskMsg \
	./internal/wire:FuzzDecodeResultMsg \
	./internal/wire:FuzzParseAck \
	./internal/wire:FuzzBeat \
	./internal/wire:FuzzDecodeValue \
	./internal/wire:FuzzDecodeRef \
	./internal/spawn:FuzzParseStatus \
	./internal/spawn:FuzzStatusScanner \
	./internal/spawn:FuzzReadConfig

.PHONY: test fuzz vet

test:
	$(GO) test -race ./...

vet:
	$(GO) vet ./...
	test -z "$$(gofmt -l .)"

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "== $$fn ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg; \
	done
