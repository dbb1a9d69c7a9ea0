"""PDF handling: opening and validating documents, embedded images, captions, panels."""
