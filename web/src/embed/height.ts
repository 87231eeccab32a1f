/**
 * The embed tells its host page how tall it is, so the iframe sizes itself (the host snippet
 * listens for it): `{ type: 'city-brain:height', panel, height }` on every change of the page's
 * height. Only a height crosses: nothing the host could not see anyway.
 */
export const HEIGHT_MESSAGE = 'city-brain:height'

export function postHeight(panel: string, root: HTMLElement): () => void {
  if (window.parent === window) return () => {}
  let last = -1
  const send = () => {
    const height = Math.ceil(root.getBoundingClientRect().height)
    if (height === last) return
    last = height
    window.parent.postMessage({ type: HEIGHT_MESSAGE, panel, height }, '*')
  }
  const ro = new ResizeObserver(send)
  ro.observe(root)
  send()
  return () => ro.disconnect()
}
