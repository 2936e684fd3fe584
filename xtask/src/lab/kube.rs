//! `lab up|down|status` on a Kubernetes cluster (kind, minikube, an existing context).
