/** Dark control-room theme; sequential colours from viridis and categories from Okabe–Ito, both readable with colour-blindness. */
export const THEME = {
  bg: '#070d1a',
  panel: '#0d1729',
  border: '#1f3350',
  text: '#e6edf7',
  muted: '#8da2c0',
  accent: '#56b4e9',
  alarm: '#ff453a',
  ok: '#3ddc97',
}
export const SEQUENTIAL = ['#482878', '#3e4a89', '#21918c', '#5ec962', '#fde725']
export const CATEGORICAL = [
  '#56b4e9',
  '#e69f00',
  '#009e73',
  '#f0e442',
  '#0072b2',
  '#d55e00',
  '#cc79a7',
  '#999999',
]
