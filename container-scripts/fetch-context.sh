
prepare_context
