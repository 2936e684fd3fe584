//! Connecting to a cluster through a kubeconfig context, within a timeout.

use crate::error::{api_error, describe};
use crate::namespace::is_not_found;
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, DeleteParams};
use lab_core::platform::PlatformError;
use std::time::Duration;

/// Connect to the cluster of a kubeconfig context (the current one when `None`)
/// and check, within `timeout`, that its API server answers.
pub async fn connect(context: Option<&str>, timeout: Duration) -> Result<Client, PlatformError> {
    let kubeconfig = kube::config::Kubeconfig::read()
        .map_err(|e| PlatformError::Unavailable(format!("cannot read the kubeconfig: {e}")))?;
    connect_with(kubeconfig, context, timeout).await
}

/// Connect with a given kubeconfig (a K3s container's, say) to one of its
/// contexts (its current one when `None`), checking within `timeout` that the
/// API server answers.
pub async fn connect_with(
    kubeconfig: kube::config::Kubeconfig,
    context: Option<&str>,
    timeout: Duration,
) -> Result<Client, PlatformError> {
    // Several TLS backends may be linked in (kube's ring, reqwest's aws-lc);
    // rustls then needs to be told which one to use.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let which = match context {
        Some(name) => format!("context {name}"),
        None => "the current context".to_string(),
    };
    let config = context_config(kubeconfig, context).await?;
    let client = Client::try_from(config)
        .map_err(|e| PlatformError::Unavailable(format!("{which}: {}", describe(&e))))?;
    check_reachable(&client, &which, timeout).await?;
    Ok(client)
}

/// The client configuration of a kubeconfig's context `context` (its current
/// one when `None`), whatever context is current.
pub async fn context_config(
    kubeconfig: kube::config::Kubeconfig,
    context: Option<&str>,
) -> Result<kube::Config, PlatformError> {
    let options = kube::config::KubeConfigOptions {
        context: context.map(str::to_string),
        ..Default::default()
    };
    let which = match context {
        Some(name) => format!("context {name}"),
        None => "the current context".to_string(),
    };
    kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| PlatformError::Unavailable(format!("kubeconfig {which}: {e}")))
}

/// Connect with a kubeconfig given as YAML text (a K3s container's), optionally
/// pointing its clusters at another server address (the port Docker mapped).
pub async fn connect_kubeconfig_yaml(
    yaml: &str,
    server: Option<&str>,
    timeout: Duration,
) -> Result<Client, PlatformError> {
    let mut kubeconfig = kube::config::Kubeconfig::from_yaml(yaml)
        .map_err(|e| PlatformError::Unavailable(format!("kubeconfig: {e}")))?;
    if let Some(server) = server {
        for cluster in &mut kubeconfig.clusters {
            if let Some(c) = cluster.cluster.as_mut() {
                c.server = Some(server.to_string());
            }
        }
    }
    connect_with(kubeconfig, None, timeout).await
}

/// Delete a namespace and wait, at most `timeout`, until it is gone; a
/// namespace that does not exist is fine.
pub async fn delete_namespace(
    client: &Client,
    name: &str,
    timeout: Duration,
) -> Result<(), PlatformError> {
    let api: Api<Namespace> = Api::all(client.clone());
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(api_error(e, &format!("deleting namespace {name}"))),
    }
    let gone = |o: Option<&Namespace>| o.is_none();
    match tokio::time::timeout(
        timeout,
        kube::runtime::wait::await_condition(api, name, gone),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(PlatformError::Unavailable(format!(
            "waiting for namespace {name} to go: {e}"
        ))),
        Err(_) => Err(PlatformError::Timeout {
            waited: timeout,
            not_ready: vec![format!("namespace {name}: still being deleted")],
        }),
    }
}

/// Check that the API server answers within `timeout`.
pub async fn check_reachable(
    client: &Client,
    which: &str,
    timeout: Duration,
) -> Result<(), PlatformError> {
    match tokio::time::timeout(timeout, client.apiserver_version()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(PlatformError::Unavailable(format!(
            "the cluster of {which} does not answer: {}",
            describe(&e)
        ))),
        Err(_) => Err(PlatformError::Unavailable(format!(
            "the cluster of {which} did not answer within {}s",
            timeout.as_secs()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kubeconfig whose current context is someone else's cluster, beside
    /// the lab's.
    fn two_clusters() -> kube::config::Kubeconfig {
        kube::config::Kubeconfig::from_yaml(
            r#"
apiVersion: v1
kind: Config
current-context: prod
clusters:
  - name: prod
    cluster: {server: "https://10.9.9.9:6443"}
  - name: kind-canary-lab
    cluster: {server: "https://127.0.0.1:40001"}
contexts:
  - name: prod
    context: {cluster: prod, user: prod}
  - name: kind-canary-lab
    context: {cluster: kind-canary-lab, user: kind-canary-lab, namespace: default}
users:
  - name: prod
    user: {token: prod-token}
  - name: kind-canary-lab
    user: {token: lab-token}
"#,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_named_context_is_used_whatever_context_is_current() {
        let lab = context_config(two_clusters(), Some("kind-canary-lab"))
            .await
            .unwrap();
        assert_eq!(lab.cluster_url.to_string(), "https://127.0.0.1:40001/");
        let current = context_config(two_clusters(), None).await.unwrap();
        assert_eq!(current.cluster_url.to_string(), "https://10.9.9.9:6443/");
        let missing = context_config(two_clusters(), Some("minikube")).await;
        assert!(
            missing.is_err(),
            "an unknown context is refused, not replaced"
        );
    }

    #[tokio::test]
    async fn an_unreachable_cluster_is_one_message() {
        let kubeconfig = kube::config::Kubeconfig::from_yaml(
            "apiVersion: v1\nkind: Config\ncurrent-context: lab\n\
             clusters: [{name: lab, cluster: {server: 'https://127.0.0.1:9'}}]\n\
             users: [{name: lab, user: {token: t}}]\n\
             contexts: [{name: lab, context: {cluster: lab, user: lab}}]\n",
        )
        .unwrap();
        let Err(error) = connect_with(kubeconfig.clone(), None, Duration::from_secs(10)).await
        else {
            panic!("connected to nothing");
        };
        match error {
            PlatformError::Unavailable(message) => assert!(
                message.starts_with(
                    "the cluster of the current context does not answer: cannot reach the Kubernetes API"
                ),
                "{message}"
            ),
            other => panic!("{other:?}"),
        }
        let Err(error) = connect_with(kubeconfig, Some("other"), Duration::from_secs(10)).await
        else {
            panic!("connected to an unknown context");
        };
        assert!(
            matches!(&error, PlatformError::Unavailable(m) if m.starts_with("kubeconfig context other:")),
            "{error:?}"
        );
    }
}
