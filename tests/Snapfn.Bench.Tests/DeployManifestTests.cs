using YamlDotNet.RepresentationModel;

namespace Snapfn.Bench.Tests;

/// <summary>
/// deploy/'s Kubernetes manifests, read as YAML and checked for what deploy/README.md and docs/cluster.md say of them.
/// Not a substitute for applying them (no cluster here): a test that they parse and hold the agreed facts.
/// </summary>
public sealed class DeployManifestTests
{
    private static string Deploy(string file)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "deploy", file);
            if (File.Exists(path))
                return path;
        }
        throw new FileNotFoundException($"deploy/{file} not found above {AppContext.BaseDirectory}");
    }

    private static List<YamlMappingNode> Documents(string file)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Deploy(file)))
            stream.Load(reader);
        return [.. stream.Documents.Select(d => (YamlMappingNode)d.RootNode)];
    }

    private static YamlNode At(YamlNode node, params object[] path)
    {
        foreach (var step in path)
        {
            node = step switch
            {
                string key => ((YamlMappingNode)node).Children[new YamlScalarNode(key)],
                int index => ((YamlSequenceNode)node).Children[index],
                _ => throw new ArgumentException($"bad step {step}"),
            };
        }
        return node;
    }

    private static string Text(YamlNode node, params object[] path) => ((YamlScalarNode)At(node, path)).Value!;

    private static YamlMappingNode Kind(List<YamlMappingNode> documents, string kind) =>
        Assert.Single(documents, d => Text(d, "kind") == kind);

    [Fact]
    public void Every_document_has_an_api_version_a_kind_and_a_name_in_the_snapfn_namespace()
    {
        foreach (var file in new[] { "nats.yaml", "snapfn-worker.yaml" })
        {
            foreach (var document in Documents(file))
            {
                Assert.False(string.IsNullOrEmpty(Text(document, "apiVersion")), file);
                var kind = Text(document, "kind");
                Assert.False(string.IsNullOrEmpty(Text(document, "metadata", "name")), file);
                if (kind != "Namespace")
                    Assert.Equal("snapfn", Text(document, "metadata", "namespace"));
            }
        }
    }

    [Fact]
    public void NATS_is_three_servers_with_JetStream_on_claims_routes_to_all_three_and_an_8_MiB_payload()
    {
        var documents = Documents("nats.yaml");
        var set = Kind(documents, "StatefulSet");
        Assert.Equal("3", Text(set, "spec", "replicas"));
        Assert.Equal("Parallel", Text(set, "spec", "podManagementPolicy"));
        Assert.Equal("data", Text(set, "spec", "volumeClaimTemplates", 0, "metadata", "name"));
        Assert.Equal("None", Text(Kind(documents, "Service"), "spec", "clusterIP"));
        var config = Text(Kind(documents, "ConfigMap"), "data", "nats.conf");
        Assert.Contains($"max_payload: {Snapfn.Cluster.LocalNatsCluster.MaxPayloadBytes}", config, StringComparison.Ordinal);
        Assert.Contains("store_dir: /data/jetstream", config, StringComparison.Ordinal);
        for (var i = 0; i < 3; i++)
            Assert.Contains($"nats-route://nats-{i}.nats.snapfn.svc.cluster.local:6222", config, StringComparison.Ordinal);
    }

    [Fact]
    public void Workers_run_only_on_KVM_machines_with_the_device_and_not_privileged_and_join_all_three_servers()
    {
        var documents = Documents("snapfn-worker.yaml");
        var set = Kind(documents, "DaemonSet");
        var pod = At(set, "spec", "template", "spec");
        Assert.Equal("true", Text(pod, "nodeSelector", "snapfn.dev/kvm"));
        var container = At(pod, "containers", 0);
        Assert.Equal("1", Text(container, "resources", "limits", "devices.kubevirt.io/kvm"));
        Assert.Equal("false", Text(container, "securityContext", "privileged"));
        var args = ((YamlSequenceNode)At(container, "args")).Children.Select(a => ((YamlScalarNode)a).Value).ToList();
        Assert.Equal("serve", args[0]);
        var nats = args[args.IndexOf("--nats") + 1]!.Split(',');
        Assert.Equal([.. Enumerable.Range(0, 3).Select(i => $"nats://nats-{i}.nats.snapfn.svc.cluster.local:4222")], nats);
        Assert.Equal("hostPath", ((YamlScalarNode)((YamlMappingNode)At(pod, "volumes", 0)).Children.Keys.Last()).Value);
        Assert.Equal("/var/lib/snapfn", Text(pod, "volumes", 0, "hostPath", "path"));
        Assert.Equal("http", Text(Kind(documents, "Service"), "spec", "ports", 0, "targetPort"));
    }
}
