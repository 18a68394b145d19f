using System.Text;
using System.Text.Json;
using Snapfn.Platform;

namespace Snapfn.Workloads.Tests.Node;

/// <summary>
/// Issue 24: the Node.js suite's workloads (node-hello-world, node-json) booted on Debian's node with the C suite's
/// inputs A and B, each output checked from the input by the rule its guest/functions/node-NAME/README.md gives.
/// They need KVM (skipped visibly without it) and threads in the Linux layer (Node starts V8's workers first).
/// On the host, guest/node/tests/test_shim.py runs both on the root's node.
/// </summary>
public sealed class NodeWorkloadTests(ITestOutputHelper log)
{
    [Theory]
    [InlineData(InputSet.A, "Alice")]
    [InlineData(InputSet.B, "Bob")]
    public void Hello_world_greets_the_name_it_is_given(InputSet set, string name)
    {
        Guests.RequireKvm();
        var output = Guests.RunScript("node-hello-world", Guests.Input("node-hello-world", set));
        Assert.Equal($"Hello, {name}!", Encoding.UTF8.GetString(output));
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Json_output_is_the_input_as_the_same_value_written_compact(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("node-json", set);
        var output = Guests.RunScript("node-json", input);
        using var expected = JsonDocument.Parse(input);
        using var actual = JsonDocument.Parse(output);
        // The same document: every number as the same double (JavaScript has no other), members in input order.
        Assert.True(JsonElement.DeepEquals(Normalised(expected.RootElement), Normalised(actual.RootElement)), "node-json changed the document");
        Assert.DoesNotContain((byte)'\n', output);
        log.WriteLine($"node-json {set}: {input.Length} bytes in, {output.Length} out");
    }

    /// <summary>The document with every number read as a double and written back, so that 5E+3 and 5000 compare equal.</summary>
    private static JsonElement Normalised(JsonElement value)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
            Write(writer, value);
        return JsonDocument.Parse(stream.ToArray()).RootElement.Clone();
    }

    private static void Write(Utf8JsonWriter writer, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var member in value.EnumerateObject())
                {
                    writer.WritePropertyName(member.Name);
                    Write(writer, member.Value);
                }
                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in value.EnumerateArray())
                    Write(writer, item);
                writer.WriteEndArray();
                break;
            case JsonValueKind.Number:
                writer.WriteNumberValue(value.GetDouble());
                break;
            default:
                value.WriteTo(writer);
                break;
        }
    }
}
