"""One benchmark run: built from its configuration (`build`), the sources it grades (`sources`), the selection and the
data path of one sample (`session`), the shard split (`shard`) and where progress goes (`progress`)."""
