"""Infrastructure only: the stack composes constructs, one construct per capability.

Never imports lambdas/; shares facts with it through catalog/.
"""
