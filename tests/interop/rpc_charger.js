// A charge point we did not write: npm ocpp-rpc in strictMode, which validates every CALL it receives
// (and every answer it sends) against its own copy of the OCPP 1.6 / 2.0.1 / 2.1 JSON schemas.
// Driven by tests/interop/test_ocpp_rpc.py against our gateway.
//
//   node rpc_charger.js <central system URL without the id> <ocpp1.6|ocpp2.0.1|ocpp2.1> <identity> <password>
//
// Prints one JSON object per line: {"event": ...}. Flow: connect with Basic auth, BootNotification,
// StatusNotification, start a transaction, meter values (power + SoC), [2.x: NotifyEVChargingNeeds],
// then wait for a TxProfile SetChargingProfile, send one more meter value, stop the transaction, close.
// Every refusal by its strict validator is printed ("strict-validation-failure"); exits 1 on any error.
'use strict';
const { RPCClient, createValidator } = require('ocpp-rpc');

const [endpoint, protocol, identity, password] = process.argv.slice(2);
const v16 = protocol === 'ocpp1.6';
const say = (event, fields = {}) => console.log(JSON.stringify({ event, ...fields }));
const now = () => new Date().toISOString();
let failures = 0;

// ocpp-rpc 2.2.1 keys its 2.1 schemas 'urn:XRequest' but looks up 'urn:X.req': in strictMode every
// 2.1 call fails. Re-key them (the schemas themselves are untouched).
function validator21() {
  const schemas = JSON.parse(JSON.stringify(require('ocpp-rpc/lib/schemas/ocpp2_1.json')));
  for (const schema of schemas) schema.$id = schema.$id.replace(/Request$/, '.req').replace(/Response$/, '.conf');
  return createValidator('ocpp2.1', schemas);
}

function meterValue(power, soc, energy) {
  return v16
    ? { timestamp: now(), sampledValue: [
        { value: String(power), measurand: 'Power.Active.Import', unit: 'W' },
        { value: String(energy), measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
        { value: String(soc), measurand: 'SoC', unit: 'Percent', location: 'EV' }] }
    : { timestamp: now(), sampledValue: [
        { value: power, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'W' } },
        { value: energy, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } },
        { value: soc, measurand: 'SoC', location: 'EV', unitOfMeasure: { unit: 'Percent' } }] };
}

(async () => {
  const client = new RPCClient({
    endpoint, identity, password, protocols: [protocol], strictMode: true, reconnect: false, callTimeoutMs: 5000,
    ...(protocol === 'ocpp2.1' ? { strictModeValidators: [validator21()] } : {}),
  });
  client.on('strictValidationFailure', (e) => {
    failures += 1;
    say('strict-validation-failure', { message: e.error && e.error.message });
  });
  let gotTxProfile;
  const txProfile = new Promise((resolve) => (gotTxProfile = resolve));
  client.handle('SetChargingProfile', ({ params }) => {
    const profile = v16 ? params.csChargingProfiles : params.chargingProfile;
    say('SetChargingProfile', { params });
    if (profile.chargingProfilePurpose === 'TxProfile') gotTxProfile(profile);
    return { status: 'Accepted' };
  });
  client.handle('ClearChargingProfile', ({ params }) => {
    say('ClearChargingProfile', { params });
    return { status: 'Accepted' };
  });
  client.handle(({ method }) => {
    say('unhandled', { method });
    throw Object.assign(new Error('not implemented'), { rpcErrorCode: 'NotImplemented' });
  });

  await client.connect();
  say('connected', { protocol: client.protocol });
  let transactionId;
  if (v16) {
    say('boot', await client.call('BootNotification', { chargePointVendor: 'ocpp-rpc', chargePointModel: 'strict' }));
    await client.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' });
    const started = await client.call('StartTransaction', { connectorId: 1, idTag: 'TAG-RPC', meterStart: 1000,
                                                            timestamp: now() });
    transactionId = started.transactionId;
    say('transaction', { transactionId: String(transactionId) });
    await client.call('MeterValues', { connectorId: 1, transactionId, meterValue: [meterValue(7400, 44, 1200)] });
  } else {
    say('boot', await client.call('BootNotification', { reason: 'PowerUp',
                                                        chargingStation: { vendorName: 'ocpp-rpc', model: 'strict' } }));
    await client.call('StatusNotification', { timestamp: now(), connectorStatus: 'Occupied', evseId: 1, connectorId: 1 });
    transactionId = `RPC-${Date.now()}`;
    await client.call('TransactionEvent', { eventType: 'Started', timestamp: now(), triggerReason: 'CablePluggedIn',
      seqNo: 0, transactionInfo: { transactionId }, evse: { id: 1, connectorId: 1 },
      idToken: { idToken: 'TAG-RPC', type: 'ISO14443' }, meterValue: [meterValue(7400, 44, 1200)] });
    say('transaction', { transactionId });
    const departureTime = new Date(Date.now() + 8 * 3600 * 1000).toISOString();
    const needs = protocol === 'ocpp2.1'
      ? { requestedEnergyTransfer: 'DC_BPT', controlMode: 'ScheduledControl', departureTime,
          v2xChargingParameters: { maxChargePower: 22000, maxDischargePower: 11000, evTargetEnergyRequest: 30000,
                                   targetSoC: 90 } }
      : { requestedEnergyTransfer: 'DC', departureTime,
          dcChargingParameters: { evMaxCurrent: 50, evMaxVoltage: 400, energyAmount: 30000 } };
    say('needs', await client.call('NotifyEVChargingNeeds', { evseId: 1, chargingNeeds: needs }));
    await client.call('TransactionEvent', { eventType: 'Updated', timestamp: now(), triggerReason: 'MeterValuePeriodic',
      seqNo: 1, transactionInfo: { transactionId }, meterValue: [meterValue(7400, 45, 1300)] });
    await client.call('MeterValues', { evseId: 1, meterValue: [meterValue(7400, 45, 1310)] });
  }

  const profile = await Promise.race([
    txProfile,
    new Promise((_, reject) => setTimeout(() => reject(new Error('no TxProfile within 20 s')), 20000)),
  ]);
  say('tx-profile', { profile });
  await new Promise((resolve) => setTimeout(resolve, 100)); // a distinct timestamp for the last reading
  if (v16) {
    await client.call('MeterValues', { connectorId: 1, transactionId, meterValue: [meterValue(3000, 46, 1400)] });
    await client.call('StopTransaction', { transactionId, meterStop: 1500, timestamp: now(), reason: 'EVDisconnected' });
  } else {
    await client.call('TransactionEvent', { eventType: 'Ended', timestamp: now(), triggerReason: 'EVDeparted', seqNo: 2,
      transactionInfo: { transactionId, stoppedReason: 'EVDisconnected' }, meterValue: [meterValue(0, 46, 1500)] });
  }
  await client.close({ code: 1000 });
  say('done', { failures });
  process.exit(0);
})().catch((error) => {
  say('error', { message: String(error && (error.stack || error.message || error)) });
  process.exit(1);
});
