using Electrum.QrPayments.Api.Persistence;
using Electrum.QrPayments.PartnerSimulator;
using Microsoft.Extensions.DependencyInjection;

namespace Electrum.QrPayments.Tests.Persistence;

/// <summary>SQLite under concurrent writers.</summary>
public class SqliteWriteTests
{
    [Fact]
    public async Task Writes_SixtyFourConcurrentLifecycles_NeverMeetSqliteBusy()
    {
        var probe = new SqliteWriterProbe();
        await using var partner = await Partner.StartAsync();
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite), Flow.Settings(), partner, new ManualTimeProvider()) { Interceptor = probe };
        var pos = service.Api();
        var scanner = service.Api(QrService.Partner, QrService.PartnerPassword);

        var answers = await Task.WhenAll(Enumerable.Range(0, 64).Select(async _ =>
        {
            var code = (await pos.CreateQrCodeAsync(Messages.CreateQrCode())).Body!;
            var request = Flow.PaymentFor(code.TranId!);
            var paying = pos.PayAsync(request);
            await Flow.UntilAsync(async () => paying.IsCompleted ||
                (await scanner.NotifyScanAsync(SimulatorApp.Scan(partner.Options, code.TranId!, "tok"))).Status == HttpStatusCode.Accepted, "the scan");
            return (await paying).Status;
        }));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Created, a));
        Assert.True(probe.Writes >= 64 * 4, $"only {probe.Writes} writes seen");
        Assert.Equal(0, probe.Overlaps);
        var lane = service.Services.GetRequiredService<SqliteWriteLane>();
        Assert.True(lane.Writes >= 64 * 4, $"only {lane.Writes} writes went through the write lane");
    }
}
