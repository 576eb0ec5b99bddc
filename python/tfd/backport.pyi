from typing import List

ADDED: List[str]
