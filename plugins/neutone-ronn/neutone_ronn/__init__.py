"""The ``randomized-overdrive`` model family (Steinmetz & Reiss, *Randomized overdrive neural
networks*, 2020): a causal TCN with random weights, on the streaming blocks of
``neutone_blocks``. ``network`` is the model, ``wrapper`` its knobs, ``plugin`` the family.
"""
