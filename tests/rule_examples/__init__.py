"""Per paper, ``EXAMPLES = {claim id: (values on which its rule holds, values on which it fails)}``: the data of
``test_claims_declared.test_every_rule_holds_on_one_record_and_fails_on_another``."""
