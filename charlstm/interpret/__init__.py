"""Looking inside: recorded activations, text features, the neurons that follow
them, the HTML neuron view and the training plots.
"""
