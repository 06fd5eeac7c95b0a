"""gRPC servicers (translate only), the one error mapping, and interceptors."""
