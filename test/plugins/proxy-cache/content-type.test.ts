import { contentTypeMatches, parseMediaRange } from '../../../src/plugins/proxy-cache/content-type';

const ranges = (...xs: string[]) => xs.map((x) => parseMediaRange(x)!);

describe('contentTypeMatches', () => {
  it.each([
    ['application/json', ['application/json'], true],
    ['application/json; charset=utf-8', ['application/json'], true],
    ['Application/JSON;charset="UTF-8"', ['application/json; charset=utf-8'], true],
    ['application/json', ['application/json; charset=utf-8'], false],
    ['application/json; charset=latin1', ['application/json; charset=utf-8'], false],
    ['text/html', ['text/*'], true],
    ['application/xml', ['*/*'], true],
    ['application/xml;', ['application/xml'], true],
    ['application/xml', ['text/plain', 'application/json'], false],
    ['text/plain; format="a;b"', ['text/plain; format="a;b"'], true],
    ['text/plain; format=flowed', ['text/plain; format=Flowed'], false],
    ['', ['*/*'], false],
    ['json', ['*/*'], false],
    ['text/plain; charset', ['text/plain'], false],
    [undefined, ['*/*'], false],
    [['text/plain', 'text/plain'], ['text/plain'], false],
  ])('%j against %j is %s', (header, configured, expected) => {
    expect(contentTypeMatches(header, ranges(...configured))).toBe(expected);
  });

  it('parses parameters, quoted values included', () => {
    const media = parseMediaRange('multipart/form-data; boundary="a\\"b"; charset=UTF-8')!;
    expect(media.type).toBe('multipart');
    expect(media.params.get('boundary')).toBe('a"b');
    expect(media.params.get('charset')).toBe('UTF-8');
  });
});
