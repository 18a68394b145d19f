namespace Snapfn.Bench.Tests;

/// <summary>The report's statistics, against values worked out by hand.</summary>
public sealed class StatsTests
{
    [Fact]
    public void The_median_is_the_middle_value_or_the_mean_of_the_middle_two()
    {
        Assert.Equal(2, Stats.Median([3, 1, 2]));
        Assert.Equal(2.5, Stats.Median([4, 1, 3, 2]));
        Assert.Equal(7, Stats.Median([7]));
        Assert.True(double.IsNaN(Stats.Median([])));
    }

    [Fact]
    public void The_percentile_is_the_nearest_rank()
    {
        double[] values = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];
        Assert.Equal(9, Stats.Percentile(values, 90));
        Assert.Equal(10, Stats.Percentile(values, 95));
        Assert.Equal(10, Stats.Percentile(values, 100));
        Assert.Equal(1, Stats.Percentile(values, 0));
        Assert.Equal(5, Stats.Percentile(values, 50));
    }

    [Fact]
    public void The_geometric_mean_skips_values_that_have_no_logarithm()
    {
        Assert.Equal(4, Stats.GeometricMean([1, 4, 16]), 12);
        Assert.Equal(4, Stats.GeometricMean([1, 4, 16, 0, -2, double.NaN, double.PositiveInfinity]), 12);
        Assert.True(double.IsNaN(Stats.GeometricMean([0, double.NaN])));
    }
}
