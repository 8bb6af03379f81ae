"""The explicit registry: every guard, effect and input-rule name of the vocabulary, mapped to its code.

Names only, never dotted import paths from a file; `missing_implementations` lets a test prove the engine
implements the whole vocabulary the checker accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from definitions.model import Call, Step
from definitions.vocabulary import Vocabulary
from engine.fsm import effects, guards, rules
from engine.fsm.context import TransitionContext

GuardFn = Callable[[TransitionContext, Call], dict[str, Any] | None]
EffectFn = Callable[[TransitionContext, Call], None]
RuleFn = Callable[[TransitionContext, Step, Any, Call], str | None]

GUARDS: dict[str, GuardFn] = {
    "required_demographics": guards.required_demographics,
    "email_on_file": guards.email_on_file,
    "email_confirmed_personal": guards.email_confirmed_personal,
    "name_not_placeholder": guards.name_not_placeholder,
    "actor_linked_to_staff_record": guards.actor_linked_to_staff_record,
    "portal_access_enabled": guards.portal_access_enabled,
    "username_valid_and_unique": guards.username_valid_and_unique,
    "within_limit": guards.within_limit,
    "pin_age_at_least": guards.pin_age_at_least,
    "site_live": guards.site_live,
    "children_selected": guards.children_selected,
    "pin_and_birth_date_match": guards.pin_and_birth_date_match,
    "link_token_valid": guards.link_token_valid,
    "last_pending_child": guards.last_pending_child,
    "temporary_password_set": guards.temporary_password_set,
}

EFFECTS: dict[str, EffectFn] = {
    "issue_pin": effects.issue_pin,
    "revoke_pin": effects.revoke_pin,
    "redeem_pin": effects.redeem_pin,
    "issue_link": effects.issue_link,
    "redeem_link": effects.redeem_link,
    "send_message": effects.send_message,
    "print_pin_letter": effects.print_pin_letter,
    "start_timer": effects.start_timer,
    "cancel_timer": effects.cancel_timer,
    "enable_portal_access": effects.enable_portal_access,
    "set_username": effects.set_username,
    "set_temporary_password": effects.set_temporary_password,
    "clear_temporary_password": effects.clear_temporary_password,
}

RULES: dict[str, RuleFn] = {
    "pcp_or_responsible_provider": rules.pcp_or_responsible_provider,
    "must_be_empty": rules.must_be_empty,
    "must_equal": rules.must_equal,
    "at_least": rules.at_least,
    "valid_unique_username": rules.valid_unique_username,
    "strong_password": rules.strong_password,
}


def missing_implementations(vocabulary: Vocabulary) -> dict[str, set[str]]:
    """Names the vocabulary declares that the registry does not implement (and the reverse, as 'extra')."""
    return {
        "guards": set(vocabulary.guards) - set(GUARDS),
        "effects": set(vocabulary.effects) - set(EFFECTS),
        "rules": set(vocabulary.rules) - set(RULES),
        "extra": (set(GUARDS) - set(vocabulary.guards)) | (set(EFFECTS) - set(vocabulary.effects))
        | (set(RULES) - set(vocabulary.rules)),
    }
