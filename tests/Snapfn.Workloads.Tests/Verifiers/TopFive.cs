using System.Text.Json;

namespace Snapfn.Workloads.Tests.Verifiers;

/// <summary>
/// WORKLOADS.md's recognition answer, which py-recognition keeps: the top five as (class, logit, probability),
/// held to a reference network's logits within a tolerance relative to the largest |logit|.
/// </summary>
public static class TopFive
{
    public static List<(int Class, double Logit, double Probability)> Parse(JsonElement root) =>
        [.. root.GetProperty("top5").EnumerateArray().Select(t => (t[0].GetInt32(), t[1].GetDouble(), t[2].GetDouble()))];

    /// <summary>Five distinct classes of the 1000, best first by logit and by probability, the probabilities a
    /// part of a softmax.</summary>
    public static void AssertWellFormed(IReadOnlyList<(int Class, double Logit, double Probability)> top5)
    {
        Assert.Equal(5, top5.Select(t => t.Class).Where(c => c is >= 0 and < 1000).Distinct().Count());
        for (var i = 1; i < 5; i++)
            Assert.True(top5[i - 1].Logit >= top5[i].Logit && top5[i - 1].Probability >= top5[i].Probability, "top5 is sorted, best first");
        Assert.InRange(top5.Sum(t => t.Probability), 0, 1 + 1e-5);
    }

    /// <summary>
    /// Each reported logit within the tolerance of the reference's, each probability the reference's softmax to
    /// within what that allows plus <paramref name="probabilityRounding"/> (the function's printing or float
    /// arithmetic), and no class left out better than the fifth but for a near-tie. Returns the tolerance and the
    /// worst logit error, for the log.
    /// </summary>
    public static (double Tolerance, double Worst) AssertMatches(
        IReadOnlyList<(int Class, double Logit, double Probability)> top5, float[] logits, double relativeTolerance, double probabilityRounding)
    {
        var tolerance = relativeTolerance * logits.Max(l => Math.Abs(l));
        var max = logits.Max();
        var logSum = Math.Log(logits.Sum(l => Math.Exp(l - max)));
        var worst = 0.0;
        foreach (var (cls, logit, probability) in top5)
        {
            var error = Math.Abs(logit - logits[cls]);
            worst = Math.Max(worst, error);
            Assert.True(error <= tolerance, $"class {cls}: logit {logit:E7}, expected {logits[cls]:E7} within {tolerance:E2}");
            // Each logit is off by at most the tolerance, so log p by at most twice that (and the rounding).
            var expectedLogP = logits[cls] - max - logSum;
            Assert.True(Math.Abs(Math.Log(probability) - expectedLogP) <= 2 * tolerance + probabilityRounding,
                $"class {cls}: probability {probability:E6}, expected {Math.Exp(expectedLogP):E6}");
        }
        // No class left out may beat the fifth by more than the two logits' tolerance (that would be a near-tie).
        var reported = top5.Select(t => t.Class).ToHashSet();
        var fifth = logits[top5[4].Class];
        for (var c = 0; c < logits.Length; c++)
            Assert.True(reported.Contains(c) || logits[c] <= fifth + 2 * tolerance, $"class {c} (logit {logits[c]:E7}) belongs in the top five");
        return (tolerance, worst);
    }
}
