"""Making networks: training from scratch, augmentation, model soups, tuning to one writer.

``train``   ``main.py train``: the loop and the card.
``config``  what a run is asked to do (``TrainConfig``), pen writers.
``dataset`` MNIST and pen digits with a validation split.
``saving``  a model saved atomically with the evaluation its card records.
``augment`` affine and elastic warps of images and strokes (training only).
``soup``    the mean of fine-tunes of one model (``train --average``).
``tune``    fine-tuning on the user's own handwriting.
``personal`` how hard to tune a writer, what they still get wrong, their nearest-neighbour memory.
``feeding`` a base model fed exactly as ``Predictor.prepare`` feeds it, while tuning.
``spec``    the layer grammar (`conv 8 5 same, pool 2, ...`): shapes, parameters, errors, the Keras model.
``live``    training a spec against the clock (`train --layers --seconds`, Learn ▸ Build and train).
"""
