namespace FastProxy.Manifests.Mapping;

/// <summary>
/// The fields of each object level, as in the Kubernetes API (core/v1 and discovery.k8s.io/v1). The
/// first list is what FastProxy reads; the second is what it ignores on purpose, so real manifests
/// (with images, probes, managed fields) load without a warning per line. docs/manifests.md lists the
/// read fields with their meaning.
/// </summary>
internal static class Schemas
{
    public static readonly KnownFields List = new(["apiVersion", "kind", "metadata", "items"]);

    public static readonly KnownFields Metadata = new(
        ["name", "namespace", "labels", "annotations", "deletionTimestamp"],
        ["uid", "resourceVersion", "generation", "creationTimestamp", "deletionGracePeriodSeconds", "generateName", "ownerReferences", "finalizers", "managedFields", "selfLink"]);

    public static readonly KnownFields ListMetadata = new([], ["resourceVersion", "continue", "remainingItemCount", "selfLink"]);

    public static readonly KnownFields Service = new(["apiVersion", "kind", "metadata", "spec", "status"]);

    public static readonly KnownFields ServiceSpec = new(
        ["type", "clusterIP", "clusterIPs", "ports", "selector", "sessionAffinity", "sessionAffinityConfig", "externalName", "externalIPs", "loadBalancerIP", "loadBalancerSourceRanges", "publishNotReadyAddresses", "internalTrafficPolicy", "externalTrafficPolicy", "trafficDistribution", "healthCheckNodePort"],
        ["ipFamilies", "ipFamilyPolicy", "allocateLoadBalancerNodePorts", "loadBalancerClass"]);

    public static readonly KnownFields ServicePort = new(["name", "protocol", "port", "targetPort", "nodePort"], ["appProtocol"]);

    public static readonly KnownFields SessionAffinityConfig = new(["clientIP"]);

    public static readonly KnownFields ClientIPConfig = new(["timeoutSeconds"]);

    public static readonly KnownFields ServiceStatus = new(["loadBalancer"], ["conditions"]);

    public static readonly KnownFields LoadBalancerStatus = new(["ingress"]);

    public static readonly KnownFields LoadBalancerIngress = new(["ip", "hostname"], ["ipMode", "ports"]);

    public static readonly KnownFields Pod = new(["apiVersion", "kind", "metadata", "spec", "status"]);

    public static readonly KnownFields PodSpec = new(
        ["containers", "nodeName", "hostname", "subdomain"],
        ["volumes", "initContainers", "ephemeralContainers", "restartPolicy", "terminationGracePeriodSeconds", "activeDeadlineSeconds", "dnsPolicy", "nodeSelector",
         "serviceAccountName", "serviceAccount", "automountServiceAccountToken", "hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace", "securityContext",
         "imagePullSecrets", "affinity", "schedulerName", "tolerations", "hostAliases", "priorityClassName", "priority", "dnsConfig", "readinessGates",
         "runtimeClassName", "enableServiceLinks", "preemptionPolicy", "overhead", "topologySpreadConstraints", "setHostnameAsFQDN", "os", "hostUsers",
         "schedulingGates", "resourceClaims", "resources"]);

    public static readonly KnownFields Container = new(
        ["name", "ports"],
        ["image", "command", "args", "workingDir", "envFrom", "env", "resources", "resizePolicy", "restartPolicy", "restartPolicyRules", "volumeMounts", "volumeDevices",
         "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy", "securityContext",
         "stdin", "stdinOnce", "tty"]);

    public static readonly KnownFields ContainerPort = new(["name", "containerPort", "protocol"], ["hostPort", "hostIP"]);

    public static readonly KnownFields PodStatus = new(
        ["podIP", "podIPs", "conditions", "phase"],
        ["message", "reason", "nominatedNodeName", "hostIP", "hostIPs", "startTime", "initContainerStatuses", "containerStatuses", "qosClass",
         "ephemeralContainerStatuses", "resize", "resourceClaimStatuses", "observedGeneration", "extendedResourceClaimStatus"]);

    public static readonly KnownFields PodIP = new(["ip"]);

    public static readonly KnownFields PodCondition = new(["type", "status"], ["lastProbeTime", "lastTransitionTime", "reason", "message", "observedGeneration"]);

    public static readonly KnownFields Endpoints = new(["apiVersion", "kind", "metadata", "subsets"]);

    public static readonly KnownFields EndpointSubset = new(["addresses", "notReadyAddresses", "ports"]);

    public static readonly KnownFields EndpointAddress = new(["ip", "hostname", "nodeName"], ["targetRef"]);

    public static readonly KnownFields EndpointPort = new(["name", "port", "protocol"], ["appProtocol"]);

    public static readonly KnownFields EndpointSlice = new(["apiVersion", "kind", "metadata", "addressType", "endpoints", "ports"]);

    public static readonly KnownFields SliceEndpoint = new(["addresses", "conditions", "hostname", "nodeName", "zone"], ["targetRef", "hints", "deprecatedTopology"]);

    public static readonly KnownFields SliceConditions = new(["ready", "serving", "terminating"]);
}
