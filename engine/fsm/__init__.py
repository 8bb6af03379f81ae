"""The durable state machine: enrollment rows, one machine per workflow version, the one judgement of what may
fire and why not, the context a transition works in, and the vocabulary's guards, effects and input rules."""
