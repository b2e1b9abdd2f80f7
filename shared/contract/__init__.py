"""The contract between the engine and the connectors: the canonical model, rate limits, the
clock, the pacer every remote call goes through, HTTP error classification, the reader and
writer protocols with their capabilities, the text conventions (markers, footers) and run
statuses. The engine and the connectors both import this package and never each other."""
