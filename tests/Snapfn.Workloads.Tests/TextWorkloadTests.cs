using System.Text;
using System.Text.Json;
using Snapfn.Platform;
using Snapfn.Workloads.Tests.Verifiers;

namespace Snapfn.Workloads.Tests;

/// <summary>aes, compression and json, booted on inputs A and B, each output checked by .NET's own implementation.</summary>
public sealed class TextWorkloadTests
{
    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Aes_output_is_the_ctr_ciphertext_that_dotnet_computes(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("aes", set);
        AesReference.AssertReport(input, Guests.Run("aes", input));
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Compression_output_is_one_gzip_member_that_inflates_to_the_input(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("compression", set);
        var output = Guests.Run("compression", input);

        GzipMember.AssertIsOneMemberOf(output, input);
        Assert.Equal(0, output[3] & 0x08); // FLG.FNAME: no file name
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Json_output_is_the_input_compacted(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("json", set);
        var output = Guests.Run("json", input);

        using var expected = JsonDocument.Parse(input);
        using var actual = JsonDocument.Parse(output);
        WorkloadJson.Rules.AssertSameValue(expected.RootElement, actual.RootElement);
        // And byte for byte, WORKLOADS.md's compact form: no whitespace, numbers as written, minimal escapes.
        Assert.Equal(WorkloadJson.Rules.Compact(expected.RootElement), Encoding.UTF8.GetString(output));
    }
}
