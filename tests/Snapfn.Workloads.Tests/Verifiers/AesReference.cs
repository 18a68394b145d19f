using System.Security.Cryptography;
using System.Text.Json;

namespace Snapfn.Workloads.Tests.Verifiers;

/// <summary>
/// WORKLOADS.md's aes, which py-aes keeps: AES-256-CTR per NIST SP 800-38A with key 00..1f and initial counter
/// f0..ff, recomputed by .NET's AES, and the report both functions print of it.
/// </summary>
public static class AesReference
{
    /// <summary>The function's output for <paramref name="input"/>: its length, a decryption that gave the input back,
    /// and the ciphertext in lowercase hex.</summary>
    public static void AssertReport(byte[] input, byte[] output)
    {
        using var report = JsonDocument.Parse(output);
        var root = report.RootElement;
        Assert.Equal(input.Length, root.GetProperty("bytes").GetInt32());
        Assert.True(root.GetProperty("roundtrip").GetBoolean());
        Assert.Equal(Convert.ToHexStringLower(Ctr(input)), root.GetProperty("ciphertext").GetString());
    }

    public static byte[] Ctr(byte[] input)
    {
        using var aes = Aes.Create();
        aes.Key = [.. Enumerable.Range(0, 32).Select(i => (byte)i)];
        var blocks = (input.Length + 15) / 16;
        var counters = new byte[blocks * 16];
        var counter = new UInt128(0xf0f1f2f3f4f5f6f7, 0xf8f9fafbfcfdfeff);
        for (var i = 0; i < blocks; i++)
        {
            var value = counter + (UInt128)i; // wraps modulo 2^128
            for (var b = 0; b < 16; b++)
                counters[i * 16 + b] = (byte)(value >> (8 * (15 - b)));
        }
        var keystream = aes.EncryptEcb(counters, PaddingMode.None);
        var output = new byte[input.Length];
        for (var i = 0; i < input.Length; i++)
            output[i] = (byte)(input[i] ^ keystream[i]);
        return output;
    }
}
