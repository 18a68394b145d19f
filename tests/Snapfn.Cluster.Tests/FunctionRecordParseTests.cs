using System.Text;
using System.Text.Json.Nodes;
using Snapfn.Cluster.Artifacts;
using Snapfn.Cluster.Metadata;
using Snapfn.Cluster.Serving;
using Snapfn.Platform;

namespace Snapfn.Cluster.Tests;

/// <summary>
/// A function's record is read from the functions bucket, which any node (or whoever reaches the NATS servers) can
/// write: what the fuzzer's `cluster` target found (fuzz/corpus/crashes/cluster) — a null where the record promises a
/// value, settings the platform refuses — is refused when the record is read, as a malformed record
/// (<see cref="ArtifactException"/>: deploy again), not later as a crash or as the invoker's bad request. No NATS here.
/// </summary>
public sealed class FunctionRecordParseTests
{
    private const string Digest = "84b43121dca6aa722bbd7508c54666de1895a915a79fe26a55ef882da0f9180c";

    private static JsonObject Good() => JsonNode.Parse(Encoding.UTF8.GetString(new FunctionRecord
    {
        Name = "py-hello", Kind = FunctionRecord.UserKind, Runtime = "python", MemoryMib = 256, Description = "greets", MaxInstances = 4,
        CodeSha256 = Digest, Code = "code." + Digest,
        Snapshot = new SnapshotArtifacts { Id = Guid.NewGuid(), State = "state." + Digest, Memory = "memory." + Digest, MemoryMib = 256, DataPages = 1234 },
        Recordings = [new RecordingArtifact { Mode = FunctionService.RecordModes[0], Artifact = "recording." + Digest, Pages = 99, Regions = 3 }],
        PublishedBy = "node-a",
    }.ToJson()))!.AsObject();

    public static TheoryData<string, string> Broken => new()
    {
        { "recordings", "null" },
        { "recordings", "[null]" },
        { "description", "null" },
        { "published_by", "null" },
        { "snapshot.state", "null" },
        { "snapshot.memory", "null" },
        { "memory_mib", "257" },
        { "snapshot.memory_mib", "129" },
        { "description", "\"" + new string('x', FunctionService.MaxDescriptionChars + 1) + "\"" },
        { "description", "\"two\\nlines\"" },
        { "max_instances", "0" },
        { "max_instances", "100000" },
        { "snapshot", "null" }, // recordings left without their snapshot
        { "snapshot.data_pages", "1099511627776" },
        { "snapshot.data_pages", "-1" },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public void A_record_with_a_null_or_a_setting_the_platform_refuses_is_refused_when_read(string field, string value)
    {
        var json = Good();
        var (parent, name) = field.Split('.') is [var outer, var inner] ? (json[outer]!.AsObject(), inner) : (json, field);
        parent[name] = JsonNode.Parse(value);

        var e = Assert.Throws<ArtifactException>(() => FunctionRecord.Parse(Encoding.UTF8.GetBytes(json.ToJsonString()), "py-hello", new ArtifactLimits()));
        Assert.Contains("the cluster record of function 'py-hello'", e.Message, StringComparison.Ordinal);
        Assert.Contains("deploy the function again", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_recording_in_a_mode_this_node_does_not_record_is_refused()
    {
        var json = Good();
        json["recordings"]![0]!["mode"] = "no-such-mode";

        var e = Assert.Throws<ArtifactException>(() => FunctionRecord.Parse(Encoding.UTF8.GetBytes(json.ToJsonString()), "py-hello", new ArtifactLimits()));
        Assert.Contains("'no-such-mode'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_record_a_node_writes_is_read_back()
    {
        var record = FunctionRecord.Parse(Encoding.UTF8.GetBytes(Good().ToJsonString()), "py-hello", new ArtifactLimits());
        Assert.Equal(256, record.Snapshot!.MemoryMib);
        Assert.Single(record.Recordings);
    }

    [Fact]
    public void A_request_without_a_timeout_header_gets_no_more_than_the_node_allows()
    {
        var request = InvocationRequestWire.Parse("py-hello", headers: null, [], maxTimeout: TimeSpan.FromSeconds(10));
        Assert.Equal(TimeSpan.FromSeconds(10), request.Timeout);
        Assert.Equal(InvocationRequestWire.DefaultTimeout, InvocationRequestWire.Parse("py-hello", null, [], TimeSpan.FromMinutes(5)).Timeout);
    }
}
