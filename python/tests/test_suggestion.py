"""The "Did you mean" hint of tfd's argument errors (python/src/suggestion.cpp) against the
interpreter's own, which CPython 3.13 exposes as _suggestions._generate_suggestions."""

import random
import string
import sys
import unittest

import tfd._tfd as native


class KnownCasesTest(unittest.TestCase):
    def test_examples(self):
        keywords = ["flags", "initial", "interval"]
        cases = {
            "inital": "initial",
            "initail": "initial",
            "Initial": "initial",  # a case change costs half an edit
            "flag": "flags",
            "flags2": "flags",
            "intervl": "interval",
            "zzz": None,
            "fd": None,
            "initial": None,  # the same name is never suggested
            "": None,
        }
        for name, expected in cases.items():
            with self.subTest(name=name):
                self.assertEqual(native._suggest_name(keywords, name), expected)

    def test_limits(self):
        # 750 candidates or more: no hint at all; over 40 differing characters: no match.
        many = [f"name{i}" for i in range(750)]
        self.assertIsNone(native._suggest_name(many, "name1x"))
        self.assertEqual(native._suggest_name(many[:749], "name1x"), "name1")
        long = "a" * 41
        self.assertIsNone(native._suggest_name(["b" + long], "c" + long[:-1] + "d"))
        self.assertEqual(native._suggest_name(("callback", "context"), "contxt"), "context")

    def test_bad_candidates_give_no_hint(self):
        self.assertIsNone(native._suggest_name(["flags", 3], "flag"))
        self.assertIsNone(native._suggest_name(5, "flag"))


@unittest.skipUnless(sys.version_info >= (3, 13), "the interpreter's own rule from 3.13")
class SameAsTheInterpreterTest(unittest.TestCase):
    def test_random_names(self):
        import _suggestions

        rng = random.Random(13)
        alphabet = string.ascii_letters + "_0é"

        def word(low, high):
            return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))

        def mutate(w):
            chars = list(w)
            for _ in range(rng.randint(0, 3)):
                op = rng.randrange(4)
                at = rng.randrange(len(chars) + 1)
                if op == 0:
                    chars.insert(at, rng.choice(alphabet))
                elif chars and op == 1:
                    del chars[min(at, len(chars) - 1)]
                elif chars and op == 2:
                    chars[min(at, len(chars) - 1)] = rng.choice(alphabet)
                elif chars:
                    i = min(at, len(chars) - 1)
                    chars[i] = chars[i].swapcase()
            return "".join(chars)

        for _ in range(20000):
            candidates = [word(1, 12) for _ in range(rng.randint(1, 6))]
            if rng.random() < 0.05:
                candidates.append(word(35, 50))
            name = mutate(rng.choice(candidates)) if rng.random() < 0.8 else word(0, 12)
            expected = _suggestions._generate_suggestions(candidates, name)
            self.assertEqual(native._suggest_name(candidates, name), expected,
                             (candidates, name))


if __name__ == "__main__":
    unittest.main()
