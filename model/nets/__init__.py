"""Networks: what a model is, how it is loaded safely and run, and what its card says.

``architecture`` the bundled CNN and the lesson's MLP; batch-norm folding.
``graph``        nested models flattened into one list of layers; multi-output models.
``inference``    ``load_checked_model`` and ``Predictor`` (feeding, traced calls, feature maps).
``card``         the model card: its fields, read and written in one place.
``confidence``   calibrated confidence and the verdict: a digit, not sure, or not a digit.
``memory``       a writer's own digits as a nearest-neighbour vote beside a tuned model.
``evaluate``     accuracy and confusion on MNIST, pen digits and labelled folders.
``requests``     request ids for the latest-wins worker.
``tf_runtime``   TensorFlow imported quietly, once.
"""
