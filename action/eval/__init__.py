"""`canon-gate eval`: run the real audit over a corpus of hand-made cases and score its judgment."""
