using Electrum.QrPayments.Api.QrCodes;

namespace Electrum.QrPayments.Tests.Payments;

/// <summary>A pay checks against its code from memory when this instance issued or already read it (IssuedCodes).</summary>
public class IssuedCodeTests
{
    [Theory]
    [Databases]
    public async Task Pay_CodeIssuedOnThisInstance_CodeNotRead(Db db)
    {
        var reads = new SqlPatternCounter(PayCodeRead);
        await using var flow = await Flow.StartAsync(db, interceptor: reads);
        var request = Flow.PaymentFor((await flow.CodeAsync()).TranId!);

        Assert.Equal(HttpStatusCode.Created, (await flow.PayAndScanAsync(request)).Status);

        Assert.Equal(0, reads[0]);
    }

    // As if another instance had issued it: the first pay reads it, later ones do not.
    [Theory]
    [Databases]
    public async Task Pay_CodeIssuedElsewhere_ReadOnceThenRemembered(Db db)
    {
        var reads = new SqlPatternCounter(PayCodeRead);
        await using var flow = await Flow.StartAsync(db, interceptor: reads);
        var tranId = Guid.NewGuid().ToString("N");
        await flow.Service.WithDbAsync(async d =>
        {
            d.QrCodes.Add(new QrCode
            {
                Id = Guid.NewGuid(), TranId = tranId, RequestId = Guid.NewGuid().ToString(), ClientId = QrService.Client,
                Payload = "000201", CreatedAt = flow.Clock.GetUtcNow(),
            });
            return await d.SaveChangesAsync();
        });

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Created, (await flow.PayAndScanAsync(Flow.PaymentFor(tranId))).Status);
        }

        Assert.Equal(1, reads[0]);
    }

    // A remembered code is still only the issuing client's, and still expires by the service's clock.
    [Theory]
    [Databases]
    public async Task Pay_RememberedCodeOfAnotherClientOrExpired_400InvalidTranId(Db db)
    {
        var reads = new SqlPatternCounter(PayCodeRead);
        await using var flow = await Flow.StartAsync(db, interceptor: reads);
        var foreign = await flow.CodeAsync(client: QrService.OtherClient);
        var expiring = await flow.CodeAsync(new QrProperties { ExpiryDate = flow.Clock.GetUtcNow().AddMinutes(5) });
        flow.Clock.Advance(TimeSpan.FromMinutes(6));

        var paidForeign = await flow.Pos.PayAsync(Flow.PaymentFor(foreign.TranId!));
        var paidExpired = await flow.Pos.PayAsync(Flow.PaymentFor(expiring.TranId!));

        Assert.Equal((HttpStatusCode.BadRequest, ErrorType.InvalidTranId), (paidForeign.Status, paidForeign.Error!.ErrorType));
        Assert.Equal((HttpStatusCode.BadRequest, ErrorType.InvalidTranId), (paidExpired.Status, paidExpired.Error!.ErrorType));
        Assert.Equal(0, reads[0]);
    }

    // A pay's read of its code by tranId (not a scan's, which joins the payment).
    private const string PayCodeRead = @"^\s*SELECT\s.*\sFROM ""?qr_codes""? AS ""?q""?\s+WHERE ""?q""?\.""?tran_id""? = @";
}
