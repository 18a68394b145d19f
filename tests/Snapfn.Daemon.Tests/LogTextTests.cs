using System.Text;
using Snapfn.Cli;
using Snapfn.Daemon.Contracts;

namespace Snapfn.Daemon.Tests;

/// <summary>`snapfn logs` prints a guest's bytes escaped: nothing it wrote can drive the terminal, and what is
/// printed says exactly what was written.</summary>
public sealed class LogTextTests
{
    [Theory]
    [InlineData("plain text, ünïcödé and 日本語", "plain text, ünïcödé and 日本語")]
    [InlineData("\u001b[2J\u001b]0;pwned\u0007", "\\e[2J\\e]0;pwned\\x07")]
    [InlineData("progress 10%\rprogress 100%", "progress 10%\\rprogress 100%")]
    [InlineData("a\tb\\c", "a\\tb\\\\c")]
    [InlineData("left\u202Eright", "left\\u{202e}right")]
    [InlineData("nul\0del\u007f c1\u009b", "nul\\x00del\\x7f c1\\x9b")]
    [InlineData("zero\u200Bwidth", "zero\\u{200b}width")]
    public void Control_and_format_characters_are_escaped(string written, string printed) =>
        Assert.Equal(printed, LogText.Escape(Encoding.UTF8.GetBytes(written)));

    [Fact]
    public void Bytes_that_are_not_utf8_are_printed_as_hex()
    {
        Assert.Equal("ok \\xff\\xfe then \\xe2\\x82 cut", LogText.Escape([.. "ok "u8, 0xff, 0xfe, .. " then "u8, 0xe2, 0x82, .. " cut"u8]));
        Assert.Equal("end \\xe2\\x82", LogText.Escape([.. "end "u8, 0xe2, 0x82]));
    }

    [Fact]
    public void A_line_shows_its_time_invocation_path_and_stream_and_decodes_base64()
    {
        var line = new FunctionLogLineResponse
        {
            Id = 7, InvocationId = "0193a0b4-0000-7000-8000-000000000001", Time = new DateTimeOffset(2026, 12, 7, 8, 30, 1, 123, TimeSpan.Zero),
            Phase = "init", Stream = "stderr", Path = "snapshot", Text = Convert.ToBase64String([0x1b, 0xff]), Encoding = "base64",
        };
        Assert.Equal("2026-12-07T08:30:01.123Z 0193a0b4-0000-7000-8000-000000000001 snapshot init stderr: \\e\\xff", LogText.Format(line));
    }
}
